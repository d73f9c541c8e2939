from twoway.cli import main

raise SystemExit(main())
