"""Grad-CAM of the demo model looks where the object is.

Boxes were drawn by eye on the original photos, in fractions of width and height: the cup
(white cup and the coffee in it) in coffee.png; the cat in chelsea.png (everything left of
the wall and shelf that fill the right edge). The photos are resized to 224×224 whole (no
crop) so these fractions hold. The checks: the peak of the upsampled map lies in the box,
and the map is denser inside the box than outside it.
"""

import pytest
import torch
import torch.nn.functional as F
from torchvision import transforms as T

from xai_widgets import Session

BOXES = {  # name: (x0, y0, x1, y1) of the object; expected top-1 class
    "coffee": ((0.28, 0.00, 0.70, 0.75), "espresso"),
    "chelsea": ((0.00, 0.00, 0.80, 1.00), "tiger cat"),
}


def whole_image_transform():
    return T.Compose([T.Resize((224, 224)), T.ToTensor(), T.Normalize([127 / 255] * 3, [128 / 255] * 3)])


@pytest.mark.parametrize("name", BOXES)
@pytest.mark.parametrize("layer", ["_swish", "_bn1"])
def test_grad_cam_peaks_on_the_object(demo_assets, name, layer):
    model, images, labels, _ = demo_assets
    (x0, y0, x1, y1), expected_class = BOXES[name]
    session = Session(model, images[name], transform=whole_image_transform())
    top = session.top_k(2)
    assert expected_class in {labels[index] for index, _ in top}
    cam = session.attribution("gradcam", layer=layer)  # for the top-1 class
    heat = F.interpolate(cam[None, None], size=(224, 224), mode="bilinear", align_corners=False)[0, 0]
    inside = torch.zeros(224, 224, dtype=torch.bool)
    inside[int(y0 * 224) : int(y1 * 224), int(x0 * 224) : int(x1 * 224)] = True
    peak_y, peak_x = divmod(int(heat.argmax()), 224)
    assert inside[peak_y, peak_x], f"peak at {(peak_y, peak_x)} lies outside the {name} box"
    density_inside = heat[inside].mean()
    density_outside = heat[~inside].mean()
    assert density_inside > 2.0 * density_outside
