"""The VPC: subnets, NAT, endpoints, flow logs and security groups."""
