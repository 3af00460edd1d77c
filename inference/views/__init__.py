"""Dashboard pages of serving: the try-it box, monitors, the review list, batch predictions."""
