"""The studio (摄影棚): AI model photos (AI模特) from product photos, with provenance and a review queue.

``model_photos.py`` generates (diffusers, local weights only), ``review.py`` stores the images through the
governed door and keeps the review (approve / reject; only approved photos are for use), ``prompts.py``
and ``masks.py`` are the pure parts (the prompt library, the garment mask), ``conf.py`` reads ``studio:``
of the settings file, ``tiny.py`` builds a tiny random pipeline for tests and demos. See README.md.
"""

from workbench.studio.conf import StudioSettings, load_studio_settings
from workbench.studio.model_photos import PhotoRequest, WeightsMissing, model_photos
from workbench.studio.prompts import Look
from workbench.studio.review import decide, photos_for_use, review_queue, save_photos

__all__ = ["StudioSettings", "load_studio_settings", "Look", "PhotoRequest", "WeightsMissing", "model_photos",
           "save_photos", "decide", "review_queue", "photos_for_use"]
