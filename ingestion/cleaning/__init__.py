"""The cleaning pipeline: small pure functions composed in order by ``pipeline.clean_batch``."""
