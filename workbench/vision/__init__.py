"""Machine vision for the shop floor: returns inspection (智能返货检查) and photo search (拍照识别商品).

- :mod:`workbench.vision.garments`, :mod:`workbench.vision.synthetic`: the generated evaluation set;
- :mod:`workbench.vision.align`, :mod:`workbench.vision.inspection`: align a return's photo to the reference,
  find stains, holes and missing accessories, decide accept / B-goods / reject;
- :mod:`workbench.vision.search`: index the catalogue's reference photos, top-5 SKCs for a staff photo;
- :mod:`workbench.vision.conf`: the ``vision:`` section of the settings file;
- :mod:`workbench.vision.output`: inspection results through the governed door.

Pure functions, images in and results out (BGR ``uint8`` arrays, as OpenCV reads them); the session does I/O.
See README.md.
"""
