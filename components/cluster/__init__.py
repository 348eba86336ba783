"""Compute: the EKS cluster, its add-ons, Karpenter, the platform's namespaces, admission
policies and the namespaces' External Secrets store."""
