# gnuplot -e "dat='X.dat'; png='X.png'; title='...'" plot.gp
set terminal pngcairo size 1000,520 font "sans,10"
set output png
set title title
set xlabel "seconds"
set ylabel "callers / EEs / instances"
set y2label "requests per second"
set y2tics
set ytics nomirror
set key top left
set grid
plot dat using 1:2 with lines lw 2 title "callers (load)", \
     dat using 1:3 with steps lw 2 title "ready EEs", \
     dat using 1:4 with steps lw 1 dt 2 title "instances", \
     dat using 1:6 axes x1y2 with impulses lw 2 lc rgb "red" title "throttled / s", \
     dat using 1:5 axes x1y2 with lines lw 1 lc rgb "gray" title "ok / s"
