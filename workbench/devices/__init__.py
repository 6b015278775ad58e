"""Shop-floor devices (门店设备): RFID stocktakes (RFID盘点) and scales (电子秤) on serial ports.

- :mod:`.line`: a serial line that reopens its port after a disconnect (pyserial);
- :mod:`.scale`: the Mettler-Toledo MT-SICS commands (``S``, ``SI``, ``Z``, ``T``, ``@``, ``I4``, ``I0``);
- :mod:`.frames`, :mod:`.rfid`: the R2000-family reader framing and its real-time inventory rounds;
- :mod:`.epc`: SGTIN-96 EPCs to GTIN-14 and serial, and the chain's GTIN ↔ SKU mapping;
- :mod:`.ptys`, :mod:`.simulators`: a real pseudo-terminal pair (socat) with a simulated reader or
  scale on its far end, noise included;
- :mod:`.stocktake`, :mod:`.weighing`: the stocktake against book stock and the scale readings,
  written through the governed door as the store's ``device`` user;
- :mod:`.commands`: ``wb devices``.

``devices/README.md`` says how to wire a real reader or scale.
"""
