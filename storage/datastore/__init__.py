"""Google Cloud Datastore backend (Firestore in Datastore mode)."""
