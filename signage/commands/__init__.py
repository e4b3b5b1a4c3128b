"""The command line's commands: one module per subcommand (``HELP``, ``configure``, ``run``).

``signage.cli`` imports only the one it runs. A package (not a namespace) so that
import-linter sees these modules in the layer above the applications.
"""
