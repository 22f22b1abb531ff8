# Models arrive with the surveys issues.
