"""Dashboard pages of training: ``runs`` (start a run, watch it live, cancel it, with ``run_text`` saying
how its state reads) and ``models`` (compare versions, deploy or roll back); ``project_page`` gives the
project's page the facts of its first-steps checklist. Thin: training.services does the work."""
