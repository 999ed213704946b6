"""The console: admin accounts with two-factor sign-in, sessions, roles and approvals.

The services here are used by the HTTP admin plane (``api/admin_*.py``), the dashboard
(``console/web/``) and the CLI (``vectorcache admin``). Importing this package loads nothing.
"""
