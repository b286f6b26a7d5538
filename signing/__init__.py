"""Evidence and trust, offline: signing keys, verifyTokens (a JWS whose claims lock the
score to its model, data, method and log), the trust store, the `.eval_results/*.yaml`
files a run writes, evidence digests over Inspect logs, and verification of all of it.
Nothing here touches the network (the online job check is runner/remote/online.py)."""
