from tune_jobs.cli import main

raise SystemExit(main())
