"""Dataset side of GridWatch: the label taxonomy now; builders and dataset cards with the trained detector."""
