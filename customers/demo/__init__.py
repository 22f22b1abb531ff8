"""Demo data for local runs (`manage.py seed_demo`): the words it is drawn from, and its builder."""
