"""Server-rendered pages: the front desk (/desk), the hosted form (/book), the patient's link
(/manage). They call the same services as the API; they work without JavaScript."""
