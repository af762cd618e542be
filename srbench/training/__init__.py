"""The one training loop, profiles and seeding."""
