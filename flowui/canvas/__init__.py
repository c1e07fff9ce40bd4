"""The canvas: the scene that mirrors the document, its items, the view and its gestures."""
