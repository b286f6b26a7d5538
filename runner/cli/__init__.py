"""The command line: click commands only. ``main.py`` is the entry point and lists the
commands (each imported only when it runs); one module per command; ``options.py`` holds
the run and HF Jobs options that several commands share; ``output.py`` the way every
listing speaks (a table at a terminal, plain lines in a pipe, ``--json``)."""
