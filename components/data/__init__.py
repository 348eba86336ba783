"""Data: Aurora and each environment's access to it, schema owners, buckets, the model
store, the image registry, Redis (managed or in-cluster) and in-cluster PostgreSQL."""
