"""The labelled retrieval set of issue 16: F&I documents and questions about them."""
