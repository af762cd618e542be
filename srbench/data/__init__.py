"""Images, patches, the few-HR split and the object methods train from."""
