"""Finance (issue 6): the profit bridge so far; the P&L by unit, stock by age, consignment write-downs,
B-goods rules and risk checks come next (see README.md in this package)."""
