import pytest

from tests.models import random_image, tiny_cnn


@pytest.fixture
def cnn():
    return tiny_cnn()


@pytest.fixture
def image():
    return random_image()


@pytest.fixture(scope="session")
def demo_assets():
    from xai_widgets import demo

    return demo.load()


@pytest.fixture
def setup():
    """A small CNN, one image, its session and its predicted class."""
    from xai_widgets import Session

    model = tiny_cnn()
    x = random_image(5)[None]
    session = Session(model, x)
    return model, x, session, session.top_k(1)[0][0]
