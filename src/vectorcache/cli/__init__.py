"""The ``vectorcache`` command."""
