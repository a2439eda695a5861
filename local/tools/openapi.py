"""Print the REST API's OpenAPI document (`make openapi` writes it to docs/openapi.json)."""

from realtime.entrypoints.rest import openapi_document

if __name__ == "__main__":
    print(openapi_document())
