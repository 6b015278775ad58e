"""Demand forecasting (需求预测): features in the engine, a global LightGBM model, P10/P50/P90.

Modules, in the order data flows through them:

- ``calendar``    the Chinese retail calendar as features (holidays, 618, Double 11/12)
- ``panel``       daily demand per SKC or SKU × store, with stock-out censoring (ibis)
- ``features``    lags, rolling rates, price, promotion, lifecycle, attributes (ibis)
- ``model``       the global LightGBM model and its predictive distribution
- ``sizes``       store size curves that split an SKC forecast into sizes
- ``peers``       the standard peers: seasonal naive, moving average, AutoETS, mlforecast
- ``evaluation``  WRMSSE (M5), WAPE, bias, interval coverage, scaled pinball loss
- ``backtest``    rolling-origin windows shared by tuning, review and the benchmark
- ``tuning``      Optuna search with a stored study
- ``hot_items``   爆款预测: sell-through of new style-colours after 8 weeks, ranked
- ``output``      the ``marts.forecast`` table, replaced per as-of date
- ``registry``    the model in MLflow (pyfunc with its recipe); ``review`` scores recipes for the gate
- ``runs``        train / score steps shared by ``wb forecast`` and the notebook (``report``, ``plots``)
- ``bench``       ``wb bench forecast``: every method on the same windows
"""

import os

# LightGBM's OpenMP threads spin while they wait; on a busy 2-core machine
# that made one fit 11x slower (79 s instead of 7 s). Passive waiting yields
# the core instead. Must be set before the OpenMP runtime starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
