"""PineOpt's core: domain models, errors, settings, the store and the services over them."""
