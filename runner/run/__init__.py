"""One local run: prepare (everything that can fail on bad input, before a model loads),
execute (``inspect_ai.eval()``), record (the run record, the token's claims, the notes),
resume an interrupted run, and stop cleanly on SIGTERM."""
