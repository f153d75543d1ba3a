"""The price book: dated, sourced prices for paid APIs, cloud instances and serverless fronts."""
