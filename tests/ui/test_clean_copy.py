"""The browser tests start from clean copies of the notebooks: a notebook the user ran and saved
(widget outputs whose models are gone) must not change what the tests see."""

import json

from .conftest import NOTEBOOKS, _copy_notebook


def test_saved_outputs_and_widget_state_are_dropped_from_the_copy(tmp_path):
    source = json.loads((NOTEBOOKS / "01_quickstart.ipynb").read_text())
    code = [cell for cell in source["cells"] if cell["cell_type"] == "code"]
    for count, cell in enumerate(code, 1):  # as JupyterLab saves a notebook after Run All
        cell["execution_count"] = count
        cell["outputs"] = [
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "gone"}},
            }
        ]
    source["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    saved = tmp_path / "saved.ipynb"
    saved.write_text(json.dumps(source))
    _copy_notebook(saved, tmp_path / "copy.ipynb")
    copy = json.loads((tmp_path / "copy.ipynb").read_text())
    copied_code = [cell for cell in copy["cells"] if cell["cell_type"] == "code"]
    assert len(copied_code) == len(code) > 0
    assert all(cell["outputs"] == [] and cell["execution_count"] is None for cell in copied_code)
    assert "widgets" not in copy["metadata"] and copy["metadata"]["kernelspec"]["name"]
    assert [cell["source"] for cell in copied_code] == [cell["source"] for cell in code]
