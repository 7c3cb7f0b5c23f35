"""The HTTP app: routes, admin, the web page, limits, parsing, responses, observability and the uvicorn
server. Imports the core and inference."""
