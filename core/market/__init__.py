"""Market data: the stored bars, symbols and funding (catalogue), importers and their file layouts,
ccxt download, quality, resampling, the synthetic sample, export."""
