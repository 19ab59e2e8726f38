"""Validators of the regional packs, one module per pack (see validators.find_validator)."""
