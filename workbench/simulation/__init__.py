"""The simulated chain: the embedded default warehouse and the test oracle.

A deterministic generator builds a fashion retail chain (stores, products in
style / colour / size, seasons, the Chinese retail calendar, lifecycles,
promotions, size curves, members, traffic, baskets, returns, transfers,
consignment, B-goods) and streams it into the warehouse. Its ground truth
(true demand before stock-outs, hidden parameters, planted irregularities,
designed looks)
goes to the ``truth`` layer, which no business role may read.

Read the modules in this order:

``scales``          the three sizes (tiny, demo, large) and their windows
``seeding``         one random generator per (seed, purpose, day)
``calendar``        days, weekdays, Spring Festival, 618, Double 11, weather
``chain``           locations: own stores A/B/C, outlets, counters, online, DC
``catalog``         suppliers, brands → styles → SKC → SKU, hidden demand
``promotions``      the promotion table and which promotion applies when
``ranging``         the range plan: which location sells which SKC, when
``pricing``         tag prices, markdowns, outlet prices, the price paid today
``demand``          expected demand per SKU × location × day, calibration
``stock``           stock on hand / in transit per slot, movement logs, 缺货 spells
``arrays``          vectorised helpers (rationing, range expansion)
``operations``      merchandising: allocation, replenishment, 调拨 (the daily schedule)
``buying``          season orders, basics, reorders (追单)
``season_end``      markdowns, recall, supplier returns, outlet resale
``members``         loyalty members with hidden purchase rates and churn
``outfits``         designed looks (搭配) and the outfits that hold tickets together
``baskets``         tickets, prices, payments, points, returns, exchanges
``irregularities``  planted cases (discount abuse, unpaid sales, scalping ...)
``monthly``         store costs, sales plans, consignment settlements
``facts``           rows of the fact tables from the day's arrays
``tables``          Arrow columns and buffered, background writing
``build``           the day loop that ties it together: ``build_warehouse``
``commands``        ``wb demo-data``
"""
