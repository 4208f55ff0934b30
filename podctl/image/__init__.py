"""Images: references, registry transport, content-addressed store, layer unpacking."""
