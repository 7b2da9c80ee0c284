"""The screens the pages are tested on."""

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
