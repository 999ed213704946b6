"""The dashboard at ``/dashboard/``: server-rendered pages (Jinja2, plain CSS, two small static
scripts), working with JavaScript off, under a strict Content-Security-Policy."""

from vectorcache.console.web.install import install_console

__all__ = ["install_console"]
