"""What the web's overview and service pages show: each service's state and since when, its
uptime over 24 hours, 30 and 90 days with a bar per day, its newest restore point and last
drill against the objectives, its next jobs, and its open incidents and alerts. Read with a
handful of grouped queries, whatever the number of services."""
