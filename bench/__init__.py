"""Page-speed bench on a production-sized data set: `python -m bench` (or `make bench`).

Loads 100,000 customers and 2,000,000 interactions into the PostgreSQL database
named by DATABASE_URL (once: a database that already holds them is reused), then
times the customer list, search, filters, deep pagination, the detail page of the
customer with the longest history and its second timeline page.
"""
