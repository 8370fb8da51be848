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
