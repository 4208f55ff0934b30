"""Host inspection: `podctl info` and `podctl doctor`."""
