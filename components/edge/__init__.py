"""The edge: CDN and URL signing, certificates, DNS, WAF, the ALB ingress class and the
previews' shared ingress."""
