"""Dashboard pages of training: ``runs`` (start a run, watch it live, cancel it) and ``models`` (compare
versions, deploy or roll back). Thin: training.services does the work."""
