"""Names of the ARC Region switch plan's steps that ARC uses in its evaluation warnings: components/region_switch.py
names the steps with them, drctl verify reads the warnings by them."""

DATA_STORES_STEP = "promote"
AURORA_STEP = "aurora-global-database"
