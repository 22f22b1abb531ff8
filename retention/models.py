# Models arrive with the retention issues.
