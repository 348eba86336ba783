"""One environment on the platform: its tenancy, the app's secrets and the app's release."""
