"""The inventory: typed, frozen domain objects built once from decoded documents."""
