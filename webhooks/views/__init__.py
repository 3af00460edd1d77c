"""Dashboard pages of webhooks: ``endpoints`` (the list with the add form, one endpoint with its log)."""
